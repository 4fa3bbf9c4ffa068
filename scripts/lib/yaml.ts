// A parsed YAML or JSON document as the tooling walks it (config rewrites, config tests): one
// set of types and one parser that insists on a mapping at the top.
import YAML from 'yaml';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Obj = { [key: string]: Json };

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The document as a mapping; an empty document is an empty one, anything else an error. */
export function parseYamlMapping(text: string, source: string): Obj {
  const doc: unknown = YAML.parse(text);
  if (doc === null || doc === undefined) return {};
  if (!isObj(doc)) throw new Error(`${source}: expected a YAML mapping at the top`);
  return doc;
}
