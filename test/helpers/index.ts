export { randomId, randomPrefix } from './random';
export { waitFor } from './wait-for';
export { testConfig } from './config';
export { deleteKeys, testKafka, testRedis, testRegistry } from './clients';
export { closeKafkaWorld, openKafkaWorld, type KafkaWorld } from './world';
export { freePort, freePortSpan } from './net';
