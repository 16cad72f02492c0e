// Multi-agent research: a Master that dispatches Search and Verify sub-agents, Summary agents that
// condense their trajectories, and a cited synthesis.
export { research, type ResearchOptions, type ResearchResult } from './research.js';
export { dispatchTool, pool, renderReport, traceFor, type ResearchEvent, type SubAgentReport, type SubRole, type SubTask } from './dispatch.js';
export { summarize, transcript, FEEDBACK_SCHEMA, type Feedback, type Finding, type Verdict } from './summary.js';
export { SourceLedger, trackFetches, canonicalUrl, type Source } from './sources.js';
export { checkCitations, withReferences, type CitationCheck } from './citations.js';
