// The part of ONNX's protobuf format (onnx.proto, proto2, IR versions 3 to 10) that wasm-cnn reads and writes,
// described as a protobufjs JSON descriptor: message and field names and numbers as ONNX publishes them. Fields we
// never use are left out; protobufjs skips unknown fields when it decodes, so files that carry them still load.
import protobuf from 'protobufjs/light.js';

const field = (type, id, rule, packed) => ({ type, id, ...(rule ? { rule } : {}),
  ...(packed === undefined ? {} : { options: { packed } }) });
const repeated = (type, id, packed) => field(type, id, 'repeated', packed);

const descriptor = {
  nested: {
    onnx: {
      nested: {
        ModelProto: { fields: {
          ir_version: field('int64', 1),
          opset_import: repeated('OperatorSetIdProto', 8),
          producer_name: field('string', 2),
          producer_version: field('string', 3),
          domain: field('string', 4),
          model_version: field('int64', 5),
          doc_string: field('string', 6),
          graph: field('GraphProto', 7),
          metadata_props: repeated('StringStringEntryProto', 14),
          functions: repeated('Opaque', 25), // only counted: a model with local functions is refused
        } },
        Opaque: { fields: {} }, // a message whose content is not read
        OperatorSetIdProto: { fields: { domain: field('string', 1), version: field('int64', 2) } },
        StringStringEntryProto: { fields: { key: field('string', 1), value: field('string', 2) } },
        GraphProto: { fields: {
          node: repeated('NodeProto', 1),
          name: field('string', 2),
          initializer: repeated('TensorProto', 5),
          sparse_initializer: repeated('Opaque', 15), // only counted: refused
          doc_string: field('string', 10),
          input: repeated('ValueInfoProto', 11),
          output: repeated('ValueInfoProto', 12),
          value_info: repeated('ValueInfoProto', 13),
        } },
        NodeProto: { fields: {
          input: repeated('string', 1),
          output: repeated('string', 2),
          name: field('string', 3),
          op_type: field('string', 4),
          domain: field('string', 7),
          attribute: repeated('AttributeProto', 5),
          doc_string: field('string', 6),
        } },
        AttributeProto: {
          fields: {
            name: field('string', 1),
            ref_attr_name: field('string', 21),
            doc_string: field('string', 13),
            type: field('AttributeType', 20),
            f: field('float', 2),
            i: field('int64', 3),
            s: field('bytes', 4),
            t: field('TensorProto', 5),
            floats: repeated('float', 7, false),
            ints: repeated('int64', 8, false),
            strings: repeated('bytes', 9),
          },
          nested: {
            AttributeType: { values: { UNDEFINED: 0, FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6,
              INTS: 7, STRINGS: 8, TENSORS: 9, GRAPHS: 10, SPARSE_TENSOR: 11, SPARSE_TENSORS: 12, TYPE_PROTO: 13,
              TYPE_PROTOS: 14 } },
          },
        },
        ValueInfoProto: { fields: { name: field('string', 1), type: field('TypeProto', 2), doc_string: field('string', 3) } },
        TypeProto: {
          fields: { tensor_type: field('Tensor', 1), denotation: field('string', 6) },
          nested: { Tensor: { fields: { elem_type: field('int32', 1), shape: field('TensorShapeProto', 2) } } },
        },
        TensorShapeProto: {
          fields: { dim: repeated('Dimension', 1) },
          nested: { Dimension: { fields: {
            dim_value: field('int64', 1), dim_param: field('string', 2), denotation: field('string', 3),
          } } },
        },
        TensorProto: { fields: {
          dims: repeated('int64', 1, false),
          data_type: field('int32', 2),
          float_data: repeated('float', 4, true),
          int32_data: repeated('int32', 5, true),
          string_data: repeated('bytes', 6),
          int64_data: repeated('int64', 7, true),
          name: field('string', 8),
          doc_string: field('string', 12),
          raw_data: field('bytes', 9),
          external_data: repeated('StringStringEntryProto', 13),
          data_location: field('int32', 14),
          double_data: repeated('double', 10, true),
          uint64_data: repeated('uint64', 11, true),
        } },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(descriptor);
export const ModelProto = root.lookupType('onnx.ModelProto');
export const TensorProto = root.lookupType('onnx.TensorProto');

/** TensorProto.DataType values. */
export const DATA_TYPE = { FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9,
  FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13 };
export const DATA_TYPE_NAME = Object.fromEntries(Object.entries(DATA_TYPE).map(([k, v]) => [v, k]));

/** AttributeProto.AttributeType values. */
export const ATTR = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8 };

/** int64 fields decode to numbers, or to Long objects where long.js is present. */
export function toNumber(v) {
  if (typeof v === 'number') return v;
  if (v === null || v === undefined) return 0;
  if (typeof v === 'bigint') return Number(v);
  return typeof v.toNumber === 'function' ? v.toNumber() : Number(v);
}
