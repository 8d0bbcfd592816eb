// cnn.zoo: the classic architectures, classification and segmentation, as ordinary functional models.
import { lenet5, alexnet, vgg, nin, googlenet, resnet } from './classification.js';
import { fcn, segnet } from './segmentation.js';

export const zoo = Object.freeze({ lenet5, alexnet, vgg, nin, googlenet, resnet, fcn, segnet });
