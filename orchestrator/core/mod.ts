/**
 * The orchestrator's pure core: the node, its builder and the failure detector (its replicated log is
 * orchestrator/raft's).
 * @module
 */
export { OrchestratorNode } from "./orchestrator_node.ts";
export type { NodeOptions } from "./node_options.ts";
export { buildNode, type BuiltNode, emptyRecovery, type NodeBuild } from "./node_builder.ts";
export { FailureDetector } from "./failure_detector.ts";
export { emptyEffects } from "./node_io.ts";
export type {
  ConnId,
  CurrentPasswordCheck,
  LeaderAnnouncementDue,
  LoginWork,
  LogLine,
  NodeEffects,
  NodeInput,
  Outbound,
  PasswordWork,
  PeerOutbound,
  SnapshotDue,
} from "./node_io.ts";
export { mergeDurableReplies } from "./durable_replies.ts";
export {
  DEFAULT_LOGIN_THROTTLE,
  type LoginAdmission,
  type LoginAttempt,
  LoginThrottle,
  type LoginThrottleOptions,
  type ThrottleTier,
} from "./login_throttle.ts";
export { EVENT_RING_CAPACITY, EventRing, type RingRead } from "./event_ring.ts";
export {
  type EventFilter,
  type EventId,
  formatEventId,
  isVisible,
  parseEventId,
  type StreamEvent,
  streamEventsOf,
} from "./stream_events.ts";
export { checkSession, sessionRefusal } from "./session_check.ts";
