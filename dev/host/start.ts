import { enableCompileCache } from '../../shared/runtime/compile-cache.js';
import { keepWasmOnBaselineCompiler } from '../../shared/runtime/wasm-baseline.js';

// The local host's entry point: the compile cache and WebAssembly's compiler first, then the host and the app.
enableCompileCache();
keepWasmOnBaselineCompiler();
await import('./main.js');
