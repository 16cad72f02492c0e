// Training recipes and the runner behind `stepflash train`.
export { type Recipe } from './recipe.js';
export { NANO, RECIPES } from './nano.js';
export { runRecipe, runDir, type RunOptions, type RunResult } from './run.js';
export { encodeTask } from './encode.js';
export { trainTokenizer } from './tokenizer.js';
