export * from './threaded-generator.js';
