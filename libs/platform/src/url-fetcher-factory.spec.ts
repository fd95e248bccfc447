import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../config/src';
import { inputS3ClientOptions } from './url-fetcher-factory';

const STORE = {
  WES_OBJECT_STORE: 's3',
  WES_S3_BUCKET: 'store',
  WES_S3_ENDPOINT: 'http://store:9000',
  WES_S3_REGION: 'eu-central-1',
  WES_S3_ACCESS_KEY_ID: 'store-key',
  WES_S3_SECRET_ACCESS_KEY: 'store-secret',
};

describe('the S3 client of user inputs', () => {
  it("is the store's (no options of its own) while no WES_S3_INPUT_* is set", () => {
    expect(inputS3ClientOptions(loadSettings(STORE))).toBeUndefined();
    expect(inputS3ClientOptions(loadSettings({}))).toBeUndefined();
  });

  it('uses the input endpoint, region and read-only key when they are set', () => {
    const options = inputS3ClientOptions(
      loadSettings({
        ...STORE,
        WES_S3_INPUT_ENDPOINT: 'http://inputs:9000',
        WES_S3_INPUT_REGION: 'us-west-2',
        WES_S3_INPUT_ACCESS_KEY_ID: 'reader',
        WES_S3_INPUT_SECRET_ACCESS_KEY: 'reader-secret',
      }),
    );
    expect(options).toEqual({ region: 'us-west-2', endpoint: 'http://inputs:9000', forcePathStyle: true, accessKeyId: 'reader', secretAccessKey: 'reader-secret' });
  });

  it('takes each unset one from the store settings', () => {
    expect(inputS3ClientOptions(loadSettings({ ...STORE, WES_S3_INPUT_ACCESS_KEY_ID: 'reader', WES_S3_INPUT_SECRET_ACCESS_KEY: 'reader-secret' }))).toEqual({
      region: 'eu-central-1',
      endpoint: 'http://store:9000',
      forcePathStyle: true,
      accessKeyId: 'reader',
      secretAccessKey: 'reader-secret',
    });
    expect(inputS3ClientOptions(loadSettings({ ...STORE, WES_S3_INPUT_ENDPOINT: 'http://inputs:9000' }))).toMatchObject({
      endpoint: 'http://inputs:9000',
      accessKeyId: 'store-key',
    });
  });
});
