import { RemoteError, StoreError } from '../errors/index.js';
import { redactUrl } from '../util/url-credentials.js';
import { describeLocation, type S3Location } from './s3-location.js';

/** What the AWS SDK's errors carry that we look at. */
interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

export function httpStatus(e: unknown): number | undefined {
  return (e as SdkError | undefined)?.$metadata?.httpStatusCode;
}

export function isNotFound(e: unknown): boolean {
  const name = (e as SdkError | undefined)?.name;
  return name === 'NoSuchKey' || name === 'NotFound' || (httpStatus(e) === 404 && name !== 'NoSuchBucket');
}

export function isPreconditionFailed(e: unknown): boolean {
  return (e as SdkError | undefined)?.name === 'PreconditionFailed' || httpStatus(e) === 412;
}

/** AWS answers 409 when two conditional writes to one key overlap; the loser retries. */
export function isConditionalConflict(e: unknown): boolean {
  return (e as SdkError | undefined)?.name === 'ConditionalRequestConflict' || httpStatus(e) === 409;
}

/**
 * Which credential source the SDK's default chain will have used, for error messages. Never
 * includes a secret: only variable names, the profile name and file locations.
 */
export function credentialSource(env: NodeJS.ProcessEnv = process.env): string {
  if (env.AWS_ACCESS_KEY_ID) return 'environment variables (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)';
  if (env.AWS_PROFILE) return `profile "${env.AWS_PROFILE}" (~/.aws/config and ~/.aws/credentials)`;
  if (env.AWS_WEB_IDENTITY_TOKEN_FILE) return 'web identity token (AWS_WEB_IDENTITY_TOKEN_FILE)';
  if (env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI || env.AWS_CONTAINER_CREDENTIALS_FULL_URI) return 'the container credentials endpoint (ECS/Batch job role)';
  return 'the default chain (environment, ~/.aws/credentials, SSO, container or instance role)';
}

/**
 * Turns an SDK failure into one paragraph naming the bucket, the endpoint and the credential
 * source (exit 4), or passes through errors that are already ours.
 */
export function remoteFailure(e: unknown, loc: S3Location, action: string): Error {
  if (e instanceof RemoteError || e instanceof StoreError) return e;
  const err = (e ?? {}) as SdkError;
  const endpoint = loc.endpoint ? redactUrl(loc.endpoint) : undefined; // an endpoint URL may embed credentials
  const where = `${describeLocation(loc)} (endpoint ${endpoint ?? 'AWS default'}${loc.region ? `, region ${loc.region}` : ''})`;
  const status = httpStatus(e);
  const sysCode = err.code ?? (e as { cause?: { code?: string } }).cause?.code;
  const data = { bucket: loc.bucket, endpoint: endpoint ?? null, status: status ?? null };
  if (err.name === 'NoSuchBucket') {
    return new RemoteError('REMOTE_BUCKET_NOT_FOUND', `The bucket "${loc.bucket}" does not exist at ${where}; ${action} failed.`, {
      fix: 'Create the bucket, or fix mirror.url / mirror.endpoint in .flowrc (FLOW_MIRROR_URL / FLOW_S3_ENDPOINT).',
      data,
    });
  }
  if (err.name === 'ExpiredToken' || err.name === 'ExpiredTokenException' || err.name === 'TokenRefreshRequired') {
    return new RemoteError('REMOTE_CREDENTIALS', `The AWS credentials for ${where} have expired (${err.name}); ${action} failed. They came from ${credentialSource()}.`, {
      fix: 'Refresh them (aws sso login, or new session credentials), then retry. The local store is intact.',
      data,
    });
  }
  if (err.name === 'CredentialsProviderError' || /Could not load credentials/i.test(err.message ?? '')) {
    return new RemoteError('REMOTE_CREDENTIALS', `No AWS credentials were found for ${where}; ${action} failed. Tried ${credentialSource()}.`, {
      fix: 'Set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run where a role is attached. flowrun never reads credentials from .flowrc.',
      data,
    });
  }
  if (status === 403 || ['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch'].includes(err.name ?? '')) {
    return new RemoteError('REMOTE_ACCESS_DENIED', `Access to ${where} was denied (${err.name ?? status}); ${action} failed. Credentials came from ${credentialSource()}.`, {
      fix: 'Check that these credentials may s3:GetObject, s3:PutObject, s3:ListBucket and s3:DeleteObject on the bucket and prefix.',
      data,
    });
  }
  if (['ECONNREFUSED', 'ENOTFOUND', 'ECONNRESET', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH'].includes(sysCode ?? '') || err.name === 'TimeoutError') {
    return new RemoteError('REMOTE_UNREACHABLE', `Cannot reach ${where} (${sysCode ?? err.name}); ${action} failed.`, {
      fix: 'Check mirror.endpoint / FLOW_S3_ENDPOINT and the network; the local store is intact, and flow push retries later.',
      data,
    });
  }
  return new RemoteError('REMOTE_REQUEST_FAILED', `${action} failed at ${where}: ${err.name ?? 'error'}${status ? ` (HTTP ${status})` : ''}: ${err.message ?? String(e)}.`, {
    fix: 'Retry; if it persists, check the endpoint and the bucket policy. The local store is intact.',
    data,
  });
}
