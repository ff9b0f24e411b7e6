/**
 * The backends a run can use besides the local pool. Each registers itself with the runtime on
 * import; commands that start runs import this module (the one list, like Metaflow's plugins).
 */
import '../batch/register.js';
