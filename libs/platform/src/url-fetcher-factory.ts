import { S3Client } from '@aws-sdk/client-s3';
import { listSetting, WesSettings } from '../../config/src';
import { UrlFetcher } from '../../fetch/src';
import { createS3Client, ObjectStore, S3ObjectStore } from '../../storage/src';

/** Options of an S3 client made from the object store's S3 settings (WES_S3_*). */
function storeS3ClientOptions(settings: WesSettings): Parameters<typeof createS3Client>[0] {
  const { s3Region: region, s3Endpoint: endpoint, s3ForcePathStyle: forcePathStyle, s3AccessKeyId: accessKeyId, s3SecretAccessKey: secretAccessKey } = settings;
  return { region, endpoint, forcePathStyle, accessKeyId, secretAccessKey };
}

/**
 * Options of the S3 client that reads users' s3:// URLs when it is not the store's: each
 * WES_S3_INPUT_* set replaces its WES_S3_* counterpart (the key id and secret together);
 * undefined when none is set.
 */
export function inputS3ClientOptions(settings: WesSettings): Parameters<typeof createS3Client>[0] | undefined {
  const { s3InputEndpoint, s3InputRegion, s3InputAccessKeyId, s3InputSecretAccessKey } = settings;
  if (!s3InputEndpoint && !s3InputRegion && !s3InputAccessKeyId) return undefined;
  const store = storeS3ClientOptions(settings);
  return {
    ...store,
    region: s3InputRegion ?? store.region,
    endpoint: s3InputEndpoint ?? store.endpoint,
    ...(s3InputAccessKeyId ? { accessKeyId: s3InputAccessKeyId, secretAccessKey: s3InputSecretAccessKey } : {}),
  };
}

/**
 * The fetcher of workflow and input URLs. s3:// URLs are read with a client of their own when
 * any WES_S3_INPUT_* is set (a read-only key, another server); otherwise with the object
 * store's S3 client when the store is S3, else with one made from the S3 settings, when there
 * are any.
 */
export function createUrlFetcher(settings: WesSettings, store: ObjectStore): UrlFetcher {
  const inputOptions = inputS3ClientOptions(settings);
  let s3: S3Client | undefined;
  if (inputOptions) s3 = createS3Client(inputOptions);
  else if (store instanceof S3ObjectStore) s3 = store.client;
  else if (settings.s3Endpoint || settings.s3AccessKeyId) s3 = createS3Client(storeS3ClientOptions(settings));
  return new UrlFetcher(
    {
      maxBytes: settings.fetchMaxBytes,
      timeoutMs: settings.fetchTimeoutMs,
      maxRedirects: settings.fetchMaxRedirects,
      allowCidrs: listSetting(settings.fetchAllowCidrs),
      fileAllowDirs: listSetting(settings.fileAllowDirs),
      // The server's own files are no input, whatever the allowed folders and buckets hold.
      fileDenyDirs: [settings.dataDir, settings.workDir],
      s3Allow: listSetting(settings.s3InputAllow),
      s3Deny: store instanceof S3ObjectStore ? [store.location] : [],
    },
    s3,
  );
}
