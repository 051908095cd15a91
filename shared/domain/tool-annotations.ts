import type { ToolDescriptor } from './tool-descriptor.js';

export interface ToolAnnotations {
  title: string;
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  openWorldHint: boolean;
}

/** MCP annotations follow from the risk tier alone, so they can never disagree with what the pipeline enforces. */
export function annotationsFor(tool: Pick<ToolDescriptor, 'title' | 'risk'>): ToolAnnotations {
  return {
    title: tool.title,
    readOnlyHint: tool.risk === 'read',
    destructiveHint: tool.risk === 'destructive',
    idempotentHint: tool.risk === 'read',
    // The department's own estate is a closed domain, not the open web.
    openWorldHint: false,
  };
}
