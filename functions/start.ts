import { enableCompileCache } from '../shared/runtime/compile-cache.js';
import { compileRegExpsNatively } from '../shared/runtime/regexp-native.js';
import { keepWasmOnBaselineCompiler } from '../shared/runtime/wasm-baseline.js';

// The Functions entry point (package.json "main"): the compile cache and V8's compilers (WebAssembly, regular expressions) first, then the app and its registrations.
enableCompileCache();
keepWasmOnBaselineCompiler();
compileRegExpsNatively();
await import('./index.js');
