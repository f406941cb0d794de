/**
 * List format 4 by its earlier module name: the code is serving/list-codec/format-4.ts (one module per storage
 * format, dispatched by serving/list-codec). Kept so existing importers keep working.
 */
export * from './list-codec/format-4';
