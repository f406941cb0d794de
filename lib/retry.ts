/**
 * Retries an admin call a few times: right after topic creation a broker can still answer "not the leader" or
 * "unknown topic" for a moment (kafkajs marks those retriable).
 */
export async function retryKafka<T>(fn: () => Promise<T>, attempts = 10, delayMs = 200): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (err) {
      const retriable = (err as { retriable?: boolean }).retriable === true;
      if (!retriable || i >= attempts - 1) throw err;
      await new Promise((r) => setTimeout(r, delayMs * (i + 1)));
    }
  }
}
