/** The wire protocol shared by every process (the only module all sides import). */
export * from './judge-types.js';
export * from './messages.js';
export * from './admin-messages.js';
export * from './parse.js';
export * from './json-schema.js';
export * from './generator-messages.js';
