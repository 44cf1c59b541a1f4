// The `walbox` executable (bin/walbox.js imports the compiled form of this file).
import { run } from './run.js';

process.exitCode = await run(process.argv);
