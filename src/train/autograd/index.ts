// Reverse-mode automatic differentiation over the Step 3.5 block's ops (see tape.ts for the mechanism,
// engine.ts for where the arithmetic happens).
export { Tensor, Param, type FloatArray, type DType, type ParamKind } from './tensor.js';
export { Tape } from './tape.js';
export type { Engine, MatmulNT, Transpose, AttentionShape, RopeShape } from './engine.js';
export { RefEngine } from './ref-engine.js';
export { WasmEngine, type WasmEngineOptions } from './wasm-engine.js';
export { gradCheck, project, type GradCheckOptions, type GradCheckResult } from './gradcheck.js';
export { linear, groupedLinear, type Group } from './ops/linear.js';
export { add, mul, scale, concatCols, weightedSum } from './ops/elementwise.js';
export { rmsNorm, type RmsNormOptions } from './ops/norm.js';
export { rope } from './ops/rope.js';
export { attention } from './ops/attention.js';
export { headGate } from './ops/gate.js';
export { swiglu } from './ops/swiglu.js';
export { embedding } from './ops/embedding.js';
export { route, gatherRows, combineExperts, type Routing, type RouteOptions } from './ops/moe.js';
export { crossEntropyHead, IGNORE, type HeadLoss, type CrossEntropyOptions } from './ops/loss.js';
