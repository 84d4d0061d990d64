// Route schemas are typebox definitions; this compiles them with typebox's own checker so the
// same definition validates, types and documents. Path and query strings are converted to the
// schema's types (`/servers/2` → 2); JSON bodies are not coerced: `{"seconds":"30"}` is a 400.
import type { FastifySchemaCompiler } from 'fastify';
import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';

export const typeboxValidatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const check = TypeCompiler.Compile(schema);
  return (input: unknown) => {
    // a POST without a body validates as an empty object, so optional-only bodies may be left out
    const body = (input === undefined || input === null) && schema.type === 'object' ? {} : input;
    const value = httpPart === 'body' ? body : Value.Convert(schema, input);
    if (check.Check(value)) return { value };
    const first = check.Errors(value).First();
    // fastify prefixes the part and path: "body/seconds Expected integer"
    return { error: [{ keyword: 'typebox', instancePath: first?.path ?? '', schemaPath: '', params: {}, message: first?.message ?? 'invalid' }] };
  };
};
