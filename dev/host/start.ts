import { enableCompileCache } from '../../shared/runtime/compile-cache.js';

// The local host's entry point: the compile cache first, then the host and the app.
enableCompileCache();
await import('./main.js');
