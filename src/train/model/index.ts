// The trainable Step 3.5 model: configuration, GGUF-named parameters, the forward pass with the main
// and MTP losses, and export to GGUF.
export { presetConfig, step35Metadata } from './config.js';
export { createParams, type ModelParams, type LayerParams, type MoeParams, type MlpParams, type NextnParams, type InitOptions, type ParamOptions } from './params.js';
export { decoderLayer, type BatchShape, type MoeLayerStats } from './block.js';
export { Step35Trainable, type TrainBatch, type LossOptions, type HeadStats, type ForwardResult, type Step35TrainableOptions } from './step35-train.js';
export { exportGguf, type ExportOptions, type ExportableModel } from './export.js';
