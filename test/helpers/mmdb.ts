// A tiny MaxMind DB (.mmdb) written at test time with Debian's Perl writer
// (libmaxmind-db-writer-perl): 127.0.0.0/24 is SE, 127.0.1.0/24 is NO, 127.0.2.0/24 only has a
// registered country, DK. Loopback is reserved, so the writer is told to keep reserved networks.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SCRIPT = `use strict;
use MaxMind::DB::Writer::Tree;
my %types = (country => 'map', registered_country => 'map', iso_code => 'utf8_string');
my $tree = MaxMind::DB::Writer::Tree->new(
  ip_version => 6, record_size => 24, database_type => 'pen-test-Country',
  languages => ['en'], description => { en => 'pen test countries' },
  alias_ipv6_to_ipv4 => 1, remove_reserved_networks => 0, map_key_type_callback => sub { $types{ $_[0] } },
);
$tree->insert_network('127.0.0.0/24', { country => { iso_code => 'SE' } });
$tree->insert_network('127.0.1.0/24', { country => { iso_code => 'NO' } });
$tree->insert_network('127.0.2.0/24', { registered_country => { iso_code => 'DK' } });
open my $fh, '>:raw', $ARGV[0] or die "can't write $ARGV[0]: $!";
$tree->write_tree($fh);
close $fh or die;
`;

/** Why the database cannot be made here (for `skip`), or null when it can. */
export function mmdbUnavailable(): string | null {
  const r = spawnSync('perl', ['-MMaxMind::DB::Writer::Tree', '-e', '1'], { encoding: 'utf8', timeout: 10000 });
  if (r.error) return `perl is not installed (${r.error.message})`;
  if (r.status !== 0) return 'the Perl module MaxMind::DB::Writer::Tree is missing (apt-get install libmaxmind-db-writer-perl)';
  return null;
}

/** Write the test database into a new temp directory; returns its path. */
export function writeTestMmdb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pen-mmdb-'));
  const script = join(dir, 'write.pl');
  const file = join(dir, 'countries.mmdb');
  writeFileSync(script, SCRIPT);
  const r = spawnSync('perl', [script, file], { encoding: 'utf8', timeout: 30000 });
  if (r.status !== 0) throw new Error(`perl ${script} failed: ${r.stderr || r.error?.message}`);
  return file;
}
