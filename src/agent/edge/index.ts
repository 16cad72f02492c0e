// Edge-cloud delegation: a planner on one endpoint, executors on devices reached as MCP servers.
export { executorTools, EXECUTOR_SYSTEM, type ExecutorOptions } from './executor.js';
export { serveExecutorHttp, serveExecutorStdio, type ServeExecutorOptions } from './serve.js';
export { runPlanner, PLANNER_SYSTEM, type PlannerOptions, type PlannerResult } from './planner.js';
