// Country lookups for `acl N permit|deny country CC`, from a MaxMind DB (.mmdb) file. pen links
// its GeoIP database at compile time; here the file is named by `geoip FILE`, or else the usual
// Debian location is used if it exists (looked for once, when the listener opens). The file is
// read through files.ts: a regular file of at
// most FILE_LIMITS.geoip bytes, never a FIFO or /dev/zero.
import { createRequire } from 'node:module';
import type { CountryResponse, Reader as ReaderType } from 'mmdb-lib';
import type { CountryLookup } from './acl.ts';
import { FileError, readOperatorFile } from './files.ts';

// required on first use, not imported: most pens never open a database, and an ESM import of a
// CommonJS package costs Node 20 ~8 MiB of RSS (see acl.ts)
const mmdb = () => createRequire(import.meta.url)('mmdb-lib') as typeof import('mmdb-lib');

/** Used when no `geoip FILE` has been given (geoipupdate and the geoip packages put it here). */
export const DEFAULT_GEOIP_FILE = '/usr/share/GeoIP/GeoLite2-Country.mmdb';

/** The lookup for a database already read: ip → ISO country code (registered country as fallback), or null. */
function countryLookup(file: string, data: Buffer): CountryLookup {
  let reader: ReaderType<CountryResponse>;
  try {
    reader = new (mmdb().Reader)<CountryResponse>(data);
  } catch (err) {
    throw new FileError(file, `not a MaxMind DB file (${(err as Error).message.split('\n')[0]})`);
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

/** Open `file` (the `geoip FILE` command) without blocking the event loop; throws a FileError naming it. */
export async function openGeoip(file: string): Promise<CountryLookup> {
  return countryLookup(file, (await readOperatorFile(file, 'geoip')).data);
}

/**
 * The default database, if it exists and opens; null otherwise. Read when the listener opens (and
 * by a country ACL command given before that), so no connection ever waits for it.
 */
export async function openDefaultGeoip(file = DEFAULT_GEOIP_FILE): Promise<CountryLookup | null> {
  try {
    return countryLookup(file, (await readOperatorFile(file, 'geoip')).data);
  } catch {
    return null; // not there, or not a database: country entries are refused, as without one
  }
}
