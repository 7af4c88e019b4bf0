import { Controller, Get, Header } from '@nestjs/common';
import { Public } from '../auth/scopes.decorator';
// Imported (not read from disk) so tsc ships it next to the compiled code.
import openapiDocument from '../../openapi.json';

@Controller()
@Public()
export class OpenApiController {
  @Get('openapi.json')
  @Header('Cache-Control', 'no-cache')
  document(): typeof openapiDocument {
    return openapiDocument;
  }
}
