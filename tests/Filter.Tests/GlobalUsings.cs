// Xunit also defines a Record type; in these tests "Record" is always the filter record.
global using Record = Filter.Bytecode.Record;
global using Filter.Compiler.Binding;
