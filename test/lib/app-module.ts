// The service's own modules, loaded in a test process: tests that need a fact of the app (its
// fault names, its metric families, its agents and models) read it from the module that defines
// it instead of copying it or matching its source with a regular expression. The app is
// CommonJS TypeScript with extensionless imports, which Node's type stripping cannot load, so
// files under app/src are transpiled (TypeScript's transpileModule, no type check: `make lint`
// checks the app) as they are required.
import { readFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import path from 'node:path';
import ts from 'typescript';
import { catalogOf, type Catalog } from '../../scripts/lib/load/catalog.ts';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';

const APP_SRC = path.join(REPO_ROOT, 'app/src/');

interface CompilingModule {
  _compile(code: string, filename: string): void;
}
type Loader = (module: CompilingModule, filename: string) => void;

let installed = false;

/** A require hook for app/src/**.ts only; anything else keeps Node's own loader. */
function installAppLoader(): void {
  if (installed) return;
  installed = true;
  const extensions = (Module as unknown as { _extensions: Record<string, Loader> })._extensions;
  const previous = extensions['.ts'];
  extensions['.ts'] = (module, filename) => {
    if (!filename.startsWith(APP_SRC)) {
      if (!previous) throw new Error(`no loader for ${filename}`);
      previous(module, filename);
      return;
    }
    const { outputText } = ts.transpileModule(readFileSync(filename, 'utf8'), {
      fileName: filename,
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2023,
        esModuleInterop: true,
      },
    });
    module._compile(outputText, filename);
  };
}

/** The exports of app/src/<relative> (e.g. 'agent/chaos.ts'), as the service itself runs it. */
export function appModule<T>(relative: string): T {
  installAppLoader();
  return createRequire(import.meta.url)(path.join(APP_SRC, relative)) as T;
}

interface AppCatalog {
  AGENT_NAMES: readonly string[];
  MODEL_NAMES: readonly string[];
  MODELS: Record<string, { inputUsdPerMillion: number }>;
}

/**
 * The service's agents and models as GET /v1/agents lists them, from its catalog module: for
 * tests that must not send a request of their own to learn them.
 */
export function appCatalog(): Catalog {
  const app = appModule<AppCatalog>('agent/catalog.ts');
  return catalogOf({
    agents: app.AGENT_NAMES.map((name) => ({ name })),
    models: app.MODEL_NAMES.map((name) => ({
      name,
      input_usd_per_million_tokens: app.MODELS[name].inputUsdPerMillion,
    })),
  });
}
