import { tempDir } from './cli.js';
import { S3_TEST_ENV, startS3Server as launch, type S3TestServer } from '../../tools/s3-test-server/launch.js';

export { S3_TEST_ENV, type S3TestServer };
// The SDK's default credential chain reads s3rver's fixed credentials from the environment.
Object.assign(process.env, S3_TEST_ENV);

/** The test server with its data in a temp dir removed after the test file. */
export function startS3Server(): Promise<S3TestServer> {
  return launch(tempDir('s3-data-'));
}
