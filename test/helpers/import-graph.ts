import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

/**
 * The import graph of the product sources and the emulator package: file → what it imports (static and
 * dynamic). Relative imports are resolved to repo paths; imports of our own workspace packages by name stay
 * the bare specifier (`@exo-cba/emulator`), so a rule can tell "through the package" from "into its files".
 */
export type ImportGraph = Map<string, string[]>;

const SPECIFIER =
  /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\sfrom\s+)?["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

/** Where the scanned sources live: the product, and the emulator workspace package. */
export const SOURCE_ROOTS = ["src", "packages/emulator/src"];
/** Where tests and their helpers live besides the `*.test.ts` files next to the sources. */
export const TEST_ROOTS = ["test", "packages/emulator/test"];
/** The npm scope of this repository's workspace packages. */
const WORKSPACE_SCOPE = "@exo-cba/";

/**
 * Every non-test `.ts` file under the `SOURCE_ROOTS` of `root` (with `tests`: every `.ts` file there and
 * under the `TEST_ROOTS`), with its imports resolved as above.
 */
export function buildImportGraph(root: string, options: { tests?: boolean } = {}): ImportGraph {
  const graph: ImportGraph = new Map();
  const tests = options.tests ?? false;
  const dirs = tests ? [...SOURCE_ROOTS, ...TEST_ROOTS] : SOURCE_ROOTS;
  for (const file of dirs.flatMap((dir) => sourceFiles(join(root, dir), tests))) {
    const text = readFileSync(file, "utf8");
    const targets: string[] = [];
    for (const m of text.matchAll(SPECIFIER)) {
      const spec = m[1] ?? m[2];
      if (spec?.startsWith(WORKSPACE_SCOPE)) targets.push(spec);
      // other packages and node: builtins are not ours
      else if (spec?.startsWith(".")) {
        targets.push(toRepoPath(root, resolve(dirname(file), spec.replace(/\.js$/, ".ts"))));
      }
    }
    graph.set(toRepoPath(root, file), targets);
  }
  return graph;
}

function sourceFiles(dir: string, tests: boolean, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) sourceFiles(path, tests, out);
    else if (path.endsWith(".ts") && (tests || !path.endsWith(".test.ts"))) out.push(path);
  }
  return out;
}

function toRepoPath(root: string, path: string): string {
  return relative(root, path).split("\\").join("/");
}

/** Edges `from -> to` for which `violates(from, to)` holds, as sorted strings. */
export function edgesWhere(graph: ImportGraph, violates: (from: string, to: string) => boolean): string[] {
  const found: string[] = [];
  for (const [from, targets] of graph) {
    for (const to of new Set(targets)) if (violates(from, to)) found.push(`${from} -> ${to}`);
  }
  return found.sort();
}

/** Strongly connected components of more than one file (import circles), each sorted, Tarjan's algorithm. */
export function importCircles(graph: ImportGraph): string[][] {
  let index = 0;
  const stack: string[] = [];
  const onStack = new Set<string>();
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const circles: string[][] = [];
  const visit = (node: string): void => {
    indices.set(node, index);
    low.set(node, index);
    index++;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (!indices.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node) ?? 0, low.get(next) ?? 0));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node) ?? 0, indices.get(next) ?? 0));
      }
    }
    if (low.get(node) === indices.get(node)) {
      const component: string[] = [];
      let member: string | undefined;
      do {
        member = stack.pop();
        if (member === undefined) break;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) circles.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!indices.has(node)) visit(node);
  return circles.sort((a, b) => (a[0] ?? "").localeCompare(b[0] ?? ""));
}
