import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from '../../lib/log';

/**
 * Closes a replica's consumer and deletes its group: every replica reads its compacted topic from the beginning under a
 * group id of its own, so a group left behind would only collect on the broker. Best effort: a failed cleanup is
 * logged, never thrown (the replica is stopping anyway).
 */
export async function closeReplicaConsumer(consumer: Consumer, kafka: Kafka, groupId: string, logger: Logger, what: string): Promise<void> {
  await consumer.disconnect();
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.deleteGroups([groupId]);
  } catch (err) {
    logger.debug(`${what} group cleanup failed`, { err });
  } finally {
    await admin.disconnect();
  }
}
