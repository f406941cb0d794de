/**
 * `npm test` step: Debian's chromium (and the fonts it recommends, so screenshots show text) for the demo page's
 * browser test (test/integration/demo-page.test.ts), installed when it is missing and apt-get can run (as root, like
 * the stack's redis-server and prometheus). Never fails the run: without a browser that suite skips, and this says why.
 * LEARNSTREAM_CHROMIUM names another binary and skips the install.
 */
import * as fs from 'node:fs';
import { errorMessage } from '../lib/errors';
import { ensureDebianPackage } from '../infra/stack/tools';

const say = (msg: string) => process.stdout.write(`browser: ${msg}\n`);

async function main(): Promise<void> {
  const configured = process.env.LEARNSTREAM_CHROMIUM;
  if (configured) {
    say(
      fs.existsSync(configured)
        ? `using ${configured} (LEARNSTREAM_CHROMIUM)`
        : `LEARNSTREAM_CHROMIUM=${configured} does not exist: the demo page's browser test will be skipped`,
    );
    return;
  }
  try {
    say(`chromium at ${await ensureDebianPackage('chromium', 'chromium fonts-liberation', say)}`);
  } catch (err) {
    say(`no chromium (${errorMessage(err)}): the demo page's browser test will be skipped; install it with 'apt-get install -y chromium'`);
  }
}

void main();
