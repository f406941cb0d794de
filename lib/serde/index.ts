/**
 * Avro serdes over the schema registry for the event topics: Confluent wire format, TopicNameStrategy subjects,
 * explicit registration with BACKWARD compatibility. See register.ts, serializer.ts, deserializer.ts.
 */
export * from './subjects';
export * from './register';
export * from './serializer';
export * from './deserializer';
