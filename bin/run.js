#!/usr/bin/env node
import { execute } from '@oclif/core';

// The AWS SDK warns on every process that newer SDK releases will need Node 22. flowrun pins its
// SDK version (README, "Sharing runs"), so the warning is noise in the middle of a push; a user
// who wants it can set the variable to false.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

await execute({ dir: import.meta.url });
