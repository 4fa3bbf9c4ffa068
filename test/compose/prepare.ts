// What `make test-compose` needs before its tests, run ahead of them by .ci/run:
//   node test/compose/prepare.ts debian   the debootstrap tarball of the Debian base (no engine
//                                         needed: .ci/run makes it while the Go builds run)
//   node test/compose/prepare.ts images   every stand-in image, on the running test engine
import { debianTarball } from './lib/bases.ts';
import { buildStandIns } from './lib/standins.ts';

const log = (line: string) => console.log(`prepare: ${line}`);
const what = process.argv[2];
if (what === 'debian') log(`Debian base: ${debianTarball(log)}`);
else if (what === 'images') buildStandIns(log);
else {
  console.error('usage: node test/compose/prepare.ts debian|images');
  process.exit(2);
}
