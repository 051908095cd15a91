/** What a call touches, as far as it is known before (or, for tags, after reading) the resource. */
export interface PolicyTarget {
  group?: string;
  region?: string;
  /** ARM id of the resource the call changes or reads. */
  resourceId?: string;
  /** The existing resource's tags, read from Azure (protection by tag). */
  tags?: Record<string, string>;
  /**
   * Resources the target lies in whose tags were read from Azure (a key's vault): their protection tag protects
   * the target too.
   */
  ancestors?: { resourceId: string; tags: Record<string, string> }[];
  /** Tags the call sets on a new resource (required tags). */
  newTags?: Record<string, string>;
}
