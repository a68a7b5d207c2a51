/** ONNX layer: the onnxruntime-node session adapter and the project's dense-network exporter (the only importers of those packages). */
export * from './exporter.js';
export * from './session.js';
export * from './model-file.js';
export * from './probe.js';
