// eslint for every source file; `npm run lint` runs it and then `npm run layers`, whose dependency-cruiser
// rules are the import checks (the layering, and no-circular: no import cycle, type-only and dynamic
// imports counted, which eslint-plugin-import-x's no-cycle does not do for type-only ones).
import js from '@eslint/js';
import stylistic from '@stylistic/eslint-plugin';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['dist/', 'web/dist/', 'build/', 'build-asan/', 'test-artifacts/', 'bench/results/'] },
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    plugins: { '@stylistic': stylistic },
    rules: {
      // 120 as fastify has it; a string or template literal may run past it (messages and expected output
      // read better whole than cut with +)
      '@stylistic/max-len': ['error', {
        code: 120,
        ignoreUrls: true,
        ignoreStrings: true,
        ignoreTemplateLiterals: true,
        ignoreRegExpLiterals: true,
      }],
      // an unused parameter named _x is kept for its position in a callback's signature
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // the tests match pen's column-aligned --help text as it prints it; ' {6}' would hide the layout
      'no-regex-spaces': 'off',
    },
  },
  // the few plain JavaScript files (bin/, a bench script, configs) run in Node
  { files: ['**/*.js', '**/*.mjs', '**/*.cjs'], languageOptions: { globals: globals.node } },
  { files: ['**/*.cjs'], rules: { '@typescript-eslint/no-require-imports': 'off' } },
);
