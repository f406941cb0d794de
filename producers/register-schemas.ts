/**
 * npm run schemas:register — registers this build's event schemas (subject `<topic>-value`, compatibility BACKWARD)
 * in the configured registry and prints subject -> id. Idempotent. Exits 1 when the registry refuses a schema as
 * incompatible with the subject's history: that is the point of the check, fix the schema (add a default).
 */
import { loadConfig } from '../lib/config';
import { errorMessage } from '../lib/errors';
import { createRegistryClient } from '../lib/registry/client';
import { registerSchemas } from '../lib/serde';

async function main(): Promise<void> {
  const config = loadConfig();
  const subjects = await registerSchemas(createRegistryClient(config), config);
  for (const s of subjects) process.stdout.write(`${s.subject.padEnd(48)} id ${s.id}  (${s.event}, BACKWARD)\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`schema registration failed: ${errorMessage(err)}\n`);
  process.exit(1);
});
