import { runS3Campaign, S3_QUICK, S3_FAULT_CLASSES } from '/work/wt-s3wire/dist/src/torture/s3-campaign.js';
import { S3Client, CreateBucketCommand } from '@aws-sdk/client-s3';
const bucket = 'torture-' + Math.random().toString(16).slice(2, 8);
const s3 = new S3Client({ forcePathStyle: true });
await s3.send(new CreateBucketCommand({ Bucket: bucket }));
const classes = process.argv[2] ? process.argv[2].split(',') : S3_FAULT_CLASSES;
const r = await runS3Campaign({ ...S3_QUICK, seed: 1, classes, upstream: process.env.AWS_ENDPOINT_URL, bucket, prefix: 'q/', onProgress: (d, t, l) => console.error(`${d}/${t} ${l} ${new Date().toISOString()}`) });
console.log(JSON.stringify(r, null, 1));
