export * from './ggml-types.js';
export * from './values.js';
export * from './metadata.js';
export * from './reader.js';
export * from './writer.js';
