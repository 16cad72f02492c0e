// Evaluation of a model on the agentic tasks (see harness.ts).
export { evaluateTask, evaluateTasks, summarize, type EvalOptions, type EvalReport, type FamilyScore, type TaskOutcome, type TurnGenerator, type TurnOutput } from './harness.js';
export { engineGenerator, oracleGenerator, type EngineGeneratorOptions, type OracleOptions } from './generators.js';
export { formatReport, formatTeacherForced } from './report.js';
export { teacherForced, type TeacherForcedFamily, type TeacherForcedMiss, type TeacherForcedOptions, type TeacherForcedReport } from './teacher-forced.js';
