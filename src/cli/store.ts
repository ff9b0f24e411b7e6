import { loadConfig } from '../config/config.js';
import { LocalStore } from '../store/local.js';

/** The store of the project around the working directory (.flowrc / FLOW_STORE). */
export function openProjectStore(): LocalStore {
  return LocalStore.open(loadConfig(process.cwd()).store);
}
