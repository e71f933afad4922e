import dagre from '@dagrejs/dagre';
import type { StepDocument } from '../generated/schemas.js';
import { runHref } from './route.js';

const NODE_WIDTH = 150;
const NODE_HEIGHT = 40;
const GROUP_PADDING = 14;
const GROUP_HEADER = 22;

interface Placed {
  step: StepDocument;
  x: number;
  y: number;
  width: number;
  height: number;
  children: Placed[];
}

interface Level {
  width: number;
  height: number;
  nodes: Placed[];
  edges: Array<Array<{ x: number; y: number }>>;
}

type Point = { x: number; y: number };

/**
 * The steps of one level (siblings under a parent) laid out by dagre, left to right along `needs`; a group or a
 * foreach is laid out first with its own children inside, and takes the size of what it holds. Nested nodes and
 * edges come back moved to where their group is.
 */
function layoutLevel(steps: StepDocument[], childrenOf: Map<string, StepDocument[]>): Level {
  const graph = new dagre.graphlib.Graph();
  graph.setGraph({ rankdir: 'LR', nodesep: 18, ranksep: 36, marginx: 4, marginy: 4 });
  graph.setDefaultEdgeLabel(() => ({}));
  const inner = new Map<string, Level>();
  for (const step of steps) {
    const children = childrenOf.get(step.step_id) ?? [];
    if (children.length > 0) {
      const level = layoutLevel(children, childrenOf);
      inner.set(step.step_id, level);
      graph.setNode(step.step_id, {
        width: Math.max(NODE_WIDTH, level.width + 2 * GROUP_PADDING),
        height: level.height + 2 * GROUP_PADDING + GROUP_HEADER,
      });
    } else graph.setNode(step.step_id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  }
  const byKey = new Map(steps.map((step) => [lastSegment(step.key), step]));
  for (const step of steps)
    for (const need of step.needs) {
      const upstream = byKey.get(lastSegment(need));
      if (upstream) graph.setEdge(upstream.step_id, step.step_id);
    }
  dagre.layout(graph);
  const edges: Point[][] = graph.edges().map((edge) => (graph.edge(edge) as { points?: Point[] }).points ?? []);
  const nodes = steps.map((step): Placed => {
    const node = graph.node(step.step_id) as { x: number; y: number; width: number; height: number };
    const x = node.x - node.width / 2;
    const y = node.y - node.height / 2;
    const level = inner.get(step.step_id);
    const dx = x + GROUP_PADDING;
    const dy = y + GROUP_PADDING + GROUP_HEADER;
    for (const points of level?.edges ?? []) edges.push(points.map((p) => ({ x: p.x + dx, y: p.y + dy })));
    return {
      step,
      x,
      y,
      width: node.width,
      height: node.height,
      children: (level?.nodes ?? []).map((child) => moved(child, dx, dy)),
    };
  });
  const size = graph.graph() as { width?: number; height?: number };
  return { width: size.width ?? 0, height: size.height ?? 0, nodes, edges };
}

function moved(placed: Placed, dx: number, dy: number): Placed {
  return { ...placed, x: placed.x + dx, y: placed.y + dy, children: placed.children.map((c) => moved(c, dx, dy)) };
}

/** `needs` name siblings by id; a step's key is its path (group.child, each[2].child). */
function lastSegment(key: string): string {
  return key.split('.').at(-1) ?? key;
}

/**
 * The run's DAG: one box per step coloured by its status, groups and foreach copies drawn around their children,
 * a plan step linking to its child run. Each box is a link or button a keyboard reaches, named by step and status.
 */
export function RunDag({
  steps,
  selected,
  onSelect,
}: {
  steps: StepDocument[];
  selected: string | undefined;
  onSelect: (step: StepDocument) => void;
}) {
  const childrenOf = new Map<string, StepDocument[]>();
  for (const step of steps) {
    const parent = step.parent_step_id ?? '';
    childrenOf.set(parent, [...(childrenOf.get(parent) ?? []), step]);
  }
  const top = layoutLevel(childrenOf.get('') ?? [], childrenOf);
  const all: Placed[] = [];
  const collect = (placed: Placed[]) => {
    for (const node of placed) {
      all.push(node);
      collect(node.children);
    }
  };
  collect(top.nodes);
  // Groups first, then the edges (so those inside a group show on it), then the steps on top.
  const renderNode = (node: Placed) => {
    const isGroup = node.children.length > 0;
    const label = `${node.step.key}: ${node.step.status}${node.step.child_run_id ? ', opens its child run' : ''}`;
    const box = (
      <g
        class={`node status-${node.step.status}${isGroup ? ' group' : ''}${selected === node.step.key ? ' selected' : ''}`}
      >
        <rect x={node.x} y={node.y} width={node.width} height={node.height} rx="6" />
        <text x={node.x + 8} y={node.y + (isGroup ? 15 : node.height / 2 + 4)}>
          {lastSegment(node.step.key)}
          {node.step.attempt > 1 ? ` ×${node.step.attempt}` : ''}
        </text>
      </g>
    );
    if (node.step.child_run_id)
      return (
        <a key={node.step.step_id} href={runHref(node.step.child_run_id)} aria-label={label}>
          {box}
        </a>
      );
    return (
      <g
        key={node.step.step_id}
        role="button"
        tabIndex={0}
        aria-label={label}
        aria-pressed={selected === node.step.key}
        onClick={() => onSelect(node.step)}
        onKeyDown={(event) => {
          if (event.key === 'Enter' || event.key === ' ') {
            event.preventDefault();
            onSelect(node.step);
          }
        }}
      >
        {box}
      </g>
    );
  };
  const groups = all.filter((node) => node.children.length > 0);
  const leaves = all.filter((node) => node.children.length === 0);
  return (
    <svg
      class="dag"
      role="group"
      aria-label="Steps of the run as a graph"
      viewBox={`0 0 ${Math.max(top.width, 10)} ${Math.max(top.height, 10)}`}
      width={top.width}
      height={top.height}
    >
      <defs>
        <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto">
          <path d="M0,0 L10,5 L0,10 z" class="arrow" />
        </marker>
      </defs>
      {groups.map(renderNode)}
      {top.edges.map((points, index) => (
        <polyline
          key={index}
          class="edge"
          points={points.map((p) => `${p.x},${p.y}`).join(' ')}
          marker-end="url(#arrow)"
        />
      ))}
      {leaves.map(renderNode)}
    </svg>
  );
}
