import { enableCompileCache } from '../shared/runtime/compile-cache.js';
import { keepWasmOnBaselineCompiler } from '../shared/runtime/wasm-baseline.js';

// The Functions entry point (package.json "main"): the compile cache and WebAssembly's compiler first, then the app and its registrations.
enableCompileCache();
keepWasmOnBaselineCompiler();
await import('./index.js');
