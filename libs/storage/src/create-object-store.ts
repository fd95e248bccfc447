import { WesSettings } from '../../config/src';
import { LocalObjectStore } from './local-object-store';
import { ObjectStore } from './object-store';
import { S3ObjectStore } from './s3-object-store';

/** The object store the settings name. */
export function createObjectStore(settings: WesSettings): ObjectStore {
  if (settings.objectStore === 's3') {
    return new S3ObjectStore({
      bucket: settings.s3Bucket!,
      prefix: settings.s3Prefix,
      region: settings.s3Region,
      endpoint: settings.s3Endpoint,
      forcePathStyle: settings.s3ForcePathStyle,
      accessKeyId: settings.s3AccessKeyId,
      secretAccessKey: settings.s3SecretAccessKey,
      uploadPartBytes: settings.s3UploadPartBytes,
      uploadConcurrency: settings.s3UploadConcurrency,
    });
  }
  return new LocalObjectStore(settings.dataDir);
}
