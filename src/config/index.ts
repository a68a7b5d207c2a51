/** Configuration: schema, YAML loading, the frozen resolved config. */
export * from './schema.js';
export * from './load.js';
