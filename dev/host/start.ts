import { enableCompileCache } from '../../shared/runtime/compile-cache.js';
import { compileRegExpsNatively } from '../../shared/runtime/regexp-native.js';
import { keepWasmOnBaselineCompiler } from '../../shared/runtime/wasm-baseline.js';

// The local host's entry point: the compile cache and V8's compilers (WebAssembly, regular expressions) first, then the host and the app.
enableCompileCache();
keepWasmOnBaselineCompiler();
compileRegExpsNatively();
await import('./main.js');
