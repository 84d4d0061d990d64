// Country lookups for `acl N permit|deny country CC`, from a MaxMind DB (.mmdb) file. pen links
// its GeoIP database at compile time; here the file is named by `geoip FILE`, or else the usual
// Debian location is used if it exists.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { CountryResponse, Reader as ReaderType } from 'mmdb-lib';
import type { CountryLookup } from './acl.ts';
import { PenError } from './errors.ts';

// required on first use, not imported: most pens never open a database, and an ESM import of a
// CommonJS package costs Node 20 ~8 MiB of RSS (see acl.ts)
const mmdb = () => createRequire(import.meta.url)('mmdb-lib') as typeof import('mmdb-lib');

/** Used when no `geoip FILE` has been given (geoipupdate and the geoip packages put it here). */
export const DEFAULT_GEOIP_FILE = '/usr/share/GeoIP/GeoLite2-Country.mmdb';

/** Open `file` and return its lookup: ip → ISO country code (registered country as fallback), or null. */
export function openGeoip(file: string): CountryLookup {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new PenError('PEN_ERR_IO', `geoip: can't read ${file}${code ? ` (${code})` : ''}`);
  }
  let reader: ReaderType<CountryResponse>;
  try {
    reader = new (mmdb().Reader)<CountryResponse>(data);
  } catch (err) {
    throw new PenError('PEN_ERR_IO', `geoip: ${file} is not a MaxMind DB file (${(err as Error).message.split('\n')[0]})`);
  }
  return (ip) => {
    try {
      const r = reader.get(ip);
      return r?.country?.iso_code ?? r?.registered_country?.iso_code ?? null;
    } catch {
      return null; // an address the database cannot hold (an IPv6 client in an IPv4-only file)
    }
  };
}

/** The default database, if it exists and opens; null otherwise. */
export function openDefaultGeoip(file = DEFAULT_GEOIP_FILE): CountryLookup | null {
  if (!existsSync(file)) return null;
  try {
    return openGeoip(file);
  } catch {
    return null;
  }
}
