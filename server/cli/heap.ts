// V8 doubles its young generation whenever most objects survive a scavenge, which is what
// start-up looks like (the admin plane compiling its routes above all). The space then stays at
// that high-water mark, resident, while pen idles: 22 MiB of RSS with --admin. So start-up runs
// with the young generation held at its initial size, and load may grow it again afterwards.
import { setFlagsFromString } from 'node:v8';

export function holdYoungGeneration(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
}

export function releaseYoungGeneration(): void {
  setFlagsFromString('--semi-space-growth-factor=2'); // V8's default
}
