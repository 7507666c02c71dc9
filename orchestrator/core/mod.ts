/**
 * The orchestrator's pure core: the node, its consensus seam and the failure detector.
 * @module
 */
export { OrchestratorNode } from "./orchestrator_node.ts";
export type { NodeOptions } from "./orchestrator_node.ts";
export type { ConsensusLog, ConsensusOutput, HardState } from "./consensus_log.ts";
export { FailureDetector } from "./failure_detector.ts";
export { emptyEffects } from "./node_io.ts";
export type { ConnId, LogLine, NodeEffects, NodeInput, Outbound } from "./node_io.ts";
