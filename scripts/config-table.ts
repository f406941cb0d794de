/** Prints the README's configuration table from the one table the loader itself uses (lib/config/env.ts). */
import { ENV_VARS } from '../lib/config';

const key = (path: string[]) => (path[0] === '_file' ? '(config file)' : `\`${path.join('.')}\``);
const rows = ENV_VARS.map((v) => `| \`${v.name}\` | ${key(v.path)} | ${v.help} |`);
process.stdout.write(['| variable | config key | meaning |', '| --- | --- | --- |', ...rows, ''].join('\n'));
