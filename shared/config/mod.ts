/**
 * The cluster file: schema, loading, addresses.
 * @module
 */
export {
  addressOf,
  ClusterConfigSchema,
  DEFAULT_CONFIG_PATH,
  loadClusterConfig,
  parseAddressList,
  parseClusterConfig,
} from "./cluster_config.ts";
export type { ClusterConfig, OrchestratorAddress, UserEntry } from "./cluster_config.ts";
